"""FastAPI service: merchants, terminals, customers, signings, subsidies, ledger, settlement."""
