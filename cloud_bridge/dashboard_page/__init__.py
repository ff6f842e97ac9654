"""The nurses' dashboard page (``index.html``), a package so it ships with the wheel."""
