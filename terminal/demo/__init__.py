"""`gatepay demo`: a day at a school canteen, a company canteen and a car park, end to end.

The real backend process, real terminal processes for the canteens (killed with SIGKILL once),
parking lanes as in-process terminal cores behind their real plate push endpoints, fed with the
sample photos in tests/data. See docs/DEMO.md. Importing this package starts nothing.
"""
