"""Advisory teams of canvassers within a commune (issue 24)."""
