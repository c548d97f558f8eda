"""The admin web page (server-rendered, /admin)."""
