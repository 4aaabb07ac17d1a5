"""Municipality profiles shipped with the package (the demo)."""
