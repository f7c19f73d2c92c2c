"""One controller per concern (log, inspect, batch, history; signature and seal reading beside
them). Each depends on the application state (:mod:`gui.state`), the task runner
(:mod:`gui.tasks`) and the widgets it drives, never on the window."""
