"""The top of the stack: the `cloud-doctor` command line, the process supervisor
(`cloud-doctor run`), the composition roots that build each process's resources
(`bot.app`, `bot.serve`), the in-process assistant, training and evaluation, and
the Rasa NLU components referenced from config.yml (`bot.nlu`)."""

__version__ = "0.1.0"
