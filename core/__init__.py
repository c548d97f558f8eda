"""gatepay's shared core: small, dependency-free rules both the terminal and the backend use.

Nothing here imports from terminal/, hardware/, sync/, ui/ or backend/.
"""
