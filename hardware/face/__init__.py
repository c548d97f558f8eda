"""Face payment: detect, encode, quality gate, liveness, 1:N gallery, enrolment, pipeline.

Modules: models (each face model's numbers and files), encoder (interface + dlib), sface (YuNet +
SFace, the default), templates (model-tagged templates, the model-switch rule), frames (input
checks), quality, liveness, gallery + search (1:N), config, engine (ties them), pipeline (frames ->
events), enrol, evaluate, cli.
"""
