"""Talking to models. ``client`` (chat calls) and ``batch`` (provider batch APIs, through the
client's SDK and HTTP client) are the only modules that touch the network; the rest of this
package decides how its calls are made, without any I/O of its own beyond what goes through
them:

- ``capabilities``: which structured-output mode an endpoint takes, learned and remembered;
- ``budgets``: max_tokens per purpose, prompts that leave room for the reply, time budgets;
- ``guards``: checks on every line a model writes for the candidate;
- ``scheduler``: interviewer calls first, background judging bounded;
- ``errors``: what went wrong, in words fit to show;
- ``doctor``: ``interviewer doctor`` and the check before each chat.
"""
