"""``python -m matterstack``: the ``matterstack`` command."""

from matterstack.cli.app import main

if __name__ == "__main__":
    main()
