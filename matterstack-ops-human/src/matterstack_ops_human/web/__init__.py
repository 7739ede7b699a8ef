"""``matterstack human serve``: the approvals page, a small WSGI application (Werkzeug, Jinja2,
markdown-it-py), imported only by that command so every other command starts as fast as before.

:mod:`.form` turns a request's schema into form fields and a submitted form back into data,
:mod:`.access` checks the token and the forms' CSRF field, :mod:`.pages` answers the
requests, :mod:`.server` runs it.
"""
