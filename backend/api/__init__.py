"""HTTP routers of the backend, one module per area; backend/app.py `_routers()` lists them."""
