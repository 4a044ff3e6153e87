"""Talking to models. ``client`` (chat calls) and ``batch`` (provider batch APIs, through the
client's SDK and HTTP client) are the only modules that touch the network; the rest of this
package decides how calls are made (guards, scheduling) without any I/O of its own beyond what
goes through them."""
