"""PySide6 kiosk screens and the installer wizard. Observes terminal/, never decides."""
# pydantic's types module must be loaded before PySide6: PySide6's import hook inspects modules
# imported after it, and pydantic's lazy `from pydantic import SecretStr` then fails as a
# circular import (seen when a program's first import is Qt's).
import pydantic.types  # noqa: F401,E402
