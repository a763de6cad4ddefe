"""find_executable_batch_size as Accelerate documents it: the wrapped
function takes the batch size first; on an out-of-memory error the size is
halved and the function called again; at 0 it gives up. Synthetic."""
import functools
import gc
import inspect


def should_reduce_batch_size(exception):
    return (isinstance(exception, RuntimeError) and
            len(exception.args) == 1 and
            "CUDA out of memory." in exception.args[0])


def find_executable_batch_size(function=None, starting_batch_size=128):
    if function is None:
        return functools.partial(find_executable_batch_size,
                                 starting_batch_size=starting_batch_size)
    batch_size = starting_batch_size

    def decorator(*args, **kwargs):
        nonlocal batch_size
        params = list(inspect.signature(function).parameters.keys())
        if len(params) < len(args) + 1:
            raise TypeError("batch_size must be the first argument")
        while True:
            if batch_size == 0:
                raise RuntimeError("No executable batch size found, "
                                   "reached zero.")
            try:
                return function(batch_size, *args, **kwargs)
            except Exception as e:  # noqa: BLE001 - as Accelerate does
                if should_reduce_batch_size(e):
                    gc.collect()
                    batch_size //= 2
                else:
                    raise
    return decorator
