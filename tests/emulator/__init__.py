"""Local AWS emulator harness: moto 5.2.5 (patched) + Terraform workspaces.

from tests.emulator import start_emulator, TerraformWorkspace

with start_emulator() as emu:
    ws = TerraformWorkspace("out/dev", emu, tmp_path)
    ws.init(); ws.apply()
    assert ws.plan() == 0
    ws.destroy()
"""

from .patches import MOTO_VERSION, apply_patches
from .server import Emulator, start_emulator
from .workspace import TerraformError, TerraformWorkspace

__all__ = [
    "MOTO_VERSION",
    "Emulator",
    "TerraformError",
    "TerraformWorkspace",
    "apply_patches",
    "start_emulator",
]
