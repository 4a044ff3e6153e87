"""Talking to models. ``client`` is the only module that touches the network; the rest of this
package decides how its calls are made (guards, scheduling, batches) without any I/O of its own
beyond what goes through the client."""
