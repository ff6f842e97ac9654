"""The kiosk page (``index.html``), shipped as package data and served by ``edge.kiosk_api``."""
