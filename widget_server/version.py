"""The release number: its own leaf, so any module can name it without importing the app."""

__version__ = "0.1.0"
