"""PySide6 kiosk screens and the installer wizard. Observes terminal/, never decides."""
