"""Cloud Doctor (云博士) application: settings, topic contract, text normalisation,
the in-process assistant used by the CLI, and the `cloud-doctor` command line."""

__version__ = "0.1.0"
