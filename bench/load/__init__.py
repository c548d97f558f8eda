"""Load and soak of the backend: a fleet of simulated terminals (asyncio + httpx) paying and
pulling against one or more real backend processes on one PostgreSQL. Run bench/bench_load.py."""
