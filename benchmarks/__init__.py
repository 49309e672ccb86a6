"""Benchmarks of the demo province at small and province scale (`python -m benchmarks.run`)."""
