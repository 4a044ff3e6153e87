"""The web app (``interviewer serve``): the interview, the report and the session list in a
browser, over the same engine as the terminal chat.

- ``app.py``: the app factory (middleware, error handlers, lifespan).
- ``pages.py`` and ``api.py``: HTML pages and the JSON/SSE API.
- ``turns.py``: runs a candidate turn in a worker thread and bridges its speech events to SSE.
- ``views.py``: what a page shows of a session, read from the store and the checkpoint.
- ``security.py``: the owner cookie, CSRF, the access token, headers and body limits.
- ``voice.py``: server-side transcription of recorded answers.
- ``serve.py``: ``interviewer serve`` (checks, then uvicorn).
- ``templates/`` and ``static/``: plain HTML, CSS and JavaScript; no build step.

No session state lives only in one worker's memory: each turn opens and locks its session for
the duration of the turn, so any worker can take the next turn of any session.
"""
