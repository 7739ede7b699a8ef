"""The ``matterstack`` command line: one typer app (``matterstack.cli.app``), the outermost layer.

Command modules import only typer at module level; everything heavy is imported inside the
command that needs it, so ``matterstack --help`` stays fast.
"""
