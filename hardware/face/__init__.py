"""Face payment: detect, encode, quality gate, liveness, 1:N gallery, enrolment, pipeline.

Modules: encoder (model interface + dlib), frames (input checks), quality, liveness, gallery,
config, engine (ties them), pipeline (frames -> events), enrol, evaluate, cli.
"""
