"""Local servers that speak each connector vendor's API, for tests (nothing reaches the
internet). Each is a :class:`FakeVendor` started on port 0 in a thread."""
