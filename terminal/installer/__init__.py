"""The installer's services, without Qt: what the setup wizard (ui/wizard*.py) is given to call.

    results.py   the plain data the services return (FoundDevice, LiveTestResult, DoctorLine,
                 FieldError) and the bundle the wizard receives (SetupServices)
    checks.py    each step's field checks; pydantic errors in both languages
    backend.py   registration (terminal/enrol.py) and what a failure points at; is the backend there
    devices.py   find devices: the kinds, discovery, the drivers offered for a kind
    live_test.py have one device do its job once (a frame with a face, a scan, a gate pulse, ...)
    config.py    the wizard's data -> TerminalConfig, checked field by field, saved atomically
    doctor.py    the wizard's last step: the backend answers, every device's self-test
    services.py  the composition: the real services bound to a store and a config file

The functions block (they open ports, probe cameras, call the backend): the wizard runs them on
its thread pool.
"""
