"""The Faust worker: the app and its agents (``app``), one process or two halves
(``handover``), and what a stalled worker says before it exits (``diagnosis``)."""
