"""``python -m matterstack.cli.main``: the ``matterstack`` command, under the module path
MatterStack 0.2.x's command lived at (its scripts and cron lines call it so)."""

from matterstack.cli.app import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
