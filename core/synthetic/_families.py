"""The object families, each with the Locarno subclass a real application would get."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import _fam_devices as dev, _fam_furniture as fur, _fam_other as oth, _fam_tableware as tab
from ._design import Design


@dataclass(frozen=True)
class Family:
    """A kind of product: its Locarno subclass (13th edition) and usual titles."""

    name: str
    locarno: str                     # "NN-NN"
    titles: tuple[str, ...]
    build: Callable[[np.random.Generator], Design] = field(repr=False, compare=False)


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("mug", "07-01", ("Drinking mug", "Mug", "Cup"), tab.mug),
    Family("bottle", "09-01", ("Bottle", "Beverage bottle"), tab.bottle),
    Family("vase", "11-02", ("Vase", "Flower vase", "Planter"), tab.vase),
    Family("kettle", "07-02", ("Tea kettle", "Kettle"), tab.kettle),
    Family("chair", "06-01", ("Chair", "Dining chair"), fur.chair),
    Family("stool", "06-01", ("Stool", "Bar stool", "Bench"), fur.stool),
    Family("table", "06-03", ("Table", "Coffee table"), fur.table),
    Family("cabinet", "06-04", ("Cabinet", "Chest of drawers"), fur.cabinet),
    Family("tablet", "14-02", ("Tablet computer", "Electronic tablet"), dev.tablet),
    Family("speaker", "14-01", ("Speaker", "Loudspeaker"), dev.speaker),
    Family("watch", "10-02", ("Watch", "Wristwatch"), dev.watch),
    Family("flashlight", "26-02", ("Flashlight", "Torch"), dev.flashlight),
    Family("lamp", "26-05", ("Table lamp", "Lamp", "Desk lamp"), dev.lamp),
    Family("wheel", "12-16", ("Vehicle wheel", "Wheel"), oth.wheel),
    Family("faucet", "23-01", ("Faucet", "Kitchen faucet"), oth.faucet),
    Family("fan", "23-04", ("Electric fan", "Fan"), oth.fan),
    Family("toy_vehicle", "21-01", ("Toy vehicle", "Toy car"), oth.toy_vehicle),
)}
