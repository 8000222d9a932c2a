"""What the tests and the benchmark share to drive the pipeline: portal presets (`presets`), the simulator's
control client and process (`control`), the `tap | relay | target` runner (`runner`, with `pipeline` for
tests), the checks of what landed (`landed`) and the tap with test-sized waits (`fast_tap`)."""
