"""The relay's commands: ``minuta relay``, ``minuta db``, ``minuta users`` and ``minuta worker``.

Each module has ``register(subparsers)``, like the agent's commands; the one ``minuta``
entry point finds them through the ``minuta.commands`` entry-point group
(``pyproject.toml``), so neither side imports the other.
"""
