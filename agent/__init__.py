"""The part of Minuta that runs on the user's PC, fronted by the ``minuta`` command line."""
