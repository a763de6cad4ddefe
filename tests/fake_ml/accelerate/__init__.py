"""A stand-in for Accelerate in tests (tests/fake_ml): only
accelerate.utils.find_executable_batch_size, with its documented
behaviour. Synthetic."""
__version__ = "0.0+fake"
