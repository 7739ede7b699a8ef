"""Core's built-in operator kinds (``local``, ``hpc``); registered in ``matterstack.plugins.builtin``."""
