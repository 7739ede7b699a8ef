"""A project on disk: its workspaces, where its runs live and how they are found
(:mod:`~matterstack.project.layout`), and a read-only view of what the runs hold for commands
a plugin adds (:mod:`~matterstack.project.view`). Nothing here schedules anything.
"""
