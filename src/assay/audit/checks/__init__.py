"""Built-in audit checks: every module in this package registers its checks on import.

Adding a check is adding a module here (or calling ``register_check`` from your own code).
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
