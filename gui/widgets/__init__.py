"""The main window's building blocks."""
