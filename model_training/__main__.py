"""`python -m model_training train|evaluate|calibrate`: see model_training/README.md."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotag.expressions import VIEWS
from model_training import data
from model_training.evaluate import fit_temperature, metrics, report, save_figures, save_plots

ARCHITECTURES = ("vgg", "resnet")
"""The networks `--architecture` names (`model_training.model.ARCHITECTURES`), without importing Keras for --help."""
log = logging.getLogger("model_training")
LEARNING_RATE = 2e-3
RESTART_LEARNING_RATE = 1e-3
"""A warm restart peaks at half the first cycle's rate: it leaves the trained basin without forgetting it."""
DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fer2013"
DEFAULT_MODELS = Path(__file__).resolve().parent.parent / "models"


def setup_logging(log_file: Path | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", handlers=handlers)


def limited(faces: data.FaceSet, limit: int | None, seed: int) -> data.FaceSet:
    """A random `limit` faces (for smoke runs), or all of them."""
    if not limit or limit >= len(faces):
        return faces
    return faces.subset(np.random.default_rng(seed).permutation(len(faces))[:limit])


def evaluate_folder(models: Path, faces: data.FaceSet, plots: Path | None, title: str) -> dict:
    """Score the exported model through the runtime's own loader, so the figures are what users get."""
    from emotag.expressions import ExpressionModel

    model = ExpressionModel(models)
    probs = model.classify(faces.images)
    figures = metrics(probs, faces.labels, faces.votes)
    figures["model_version"] = model.version
    print(f"== {title}\n{report(figures)}", flush=True)
    if plots:
        save_plots(probs, faces.labels, figures, plots, title)
        save_figures(figures, plots / "figures.json")
    return figures


def calibrate(models: Path, val: data.FaceSet) -> float:
    """Refit the exported model's temperature on the validation split and store it."""
    from emotag.expressions import MODEL_CARD_FILE, ExpressionModel

    model = ExpressionModel(models)
    # Fitted to the crowd's top choice where the crowd voted: a confidence says how often it agrees.
    temperature = fit_temperature(model.logits(val.images), data.crowd_majority(val))
    card = json.loads((models / MODEL_CARD_FILE).read_text())
    card["temperature"] = round(temperature, 4)
    (models / MODEL_CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
    log.info("temperature %.4f", temperature)
    return temperature


@dataclass(frozen=True)
class Stage:
    """One training run: a network's first cycle, or a warm restart of it (cycle 2 on) from the previous best."""

    run: Path
    epochs: int
    seed: int
    learning_rate: float
    start_from: Path | None
    teachers: tuple[Path, ...] = ()
    architecture: str = "vgg"


def member_plan(args: argparse.Namespace) -> list[list[Stage]]:
    """The stages of each network: one network in `--run`, or `--run`/member-K with seeds counting up.

    Cycle C > 1 of a network trains in its folder's `cycle-C`, from the best epoch of cycle C - 1, at
    `RESTART_LEARNING_RATE`, with seed + 100 (C - 1); with `--distill` it also learns from the averaged readings
    of cycles 1 to C - 1.
    """
    epochs = per_member(args.epochs, args.members, "--epochs")
    cycles = per_member(args.cycles, args.members, "--cycles")
    architectures = per_member(args.architecture, args.members, "--architecture")
    seeds = per_member(args.seed, args.members, "--seed")
    if len(args.seed) == 1:  # one seed counts up: member K gets seed + K - 1
        seeds = [seeds[0] + k for k in range(args.members)]
    plan = []
    for k in range(args.members):
        folder = args.run if args.members == 1 else args.run / f"member-{k + 1}"
        stages = [Stage(folder, epochs[k], seeds[k], LEARNING_RATE, None, architecture=architectures[k])]
        for cycle in range(2, cycles[k] + 1):
            previous = stages[-1].run / "best.keras"
            seed = seeds[k] + 100 * (cycle - 1)
            teachers = tuple(stage.run / "best.keras" for stage in stages) if args.distill else ()
            restart = args.restart_epochs or epochs[k]
            stages.append(
                Stage(
                    folder / f"cycle-{cycle}",
                    restart,
                    seed,
                    RESTART_LEARNING_RATE,
                    previous,
                    teachers,
                    architectures[k],
                )
            )
        plan.append(stages)
    return plan


def per_member(values: list, members: int, option: str) -> list:
    """An option given once for every member, or once per member."""
    if len(values) not in (1, members):
        raise SystemExit(f"{option} takes one value, or one per member ({members})")
    return values if len(values) == members else values[:1] * members


def command_train(args: argparse.Namespace) -> None:
    from model_training.model import ensemble
    from model_training.train import train, training_minutes

    args.run.mkdir(parents=True, exist_ok=True)
    setup_logging(args.run / "train.log")
    train_set = limited(data.load(args.data, "train"), args.limit, args.seed[0])
    val_set = limited(data.load(args.data, "val"), args.limit, args.seed[0])
    plan = member_plan(args)
    members = []
    for stages in plan:
        trained = [
            train(
                train_set,
                val_set,
                stage.run,
                epochs=stage.epochs,
                batch_size=args.batch_size,
                learning_rate=stage.learning_rate,
                seed=stage.seed,
                start_from=stage.start_from,
                teachers=stage.teachers,
                views=tuple(args.views),
                label_share=args.label_share,
                architecture=stage.architecture,
            )
            for stage in stages
        ]
        members.extend(trained if args.snapshots else trained[-1:])
    epochs = [sum(stage.epochs for stage in stages) for stages in plan]
    seeds = [stages[0].seed for stages in plan]
    extra = {
        "training_minutes": round(sum(training_minutes(stage.run) for stages in plan for stage in stages), 1),
        "epochs": epochs if len(plan) > 1 else epochs[0],
        "seed": seeds if len(plan) > 1 else seeds[0],
        "cycles": [len(stages) for stages in plan] if len(plan) > 1 else len(plan[0]),
        "architecture": [stages[0].architecture for stages in plan] if len(plan) > 1 else plan[0][0].architecture,
        "snapshots": args.snapshots,
        "distill": args.distill,
        "label_share": args.label_share,
    }
    model = members[0] if len(members) == 1 else ensemble(members)
    publish(model, args, val_set, extra)


def command_ensemble(args: argparse.Namespace) -> None:
    """Average the logits of networks already trained (their `best.keras`) into one exported model."""
    import keras

    from model_training.model import ensemble

    setup_logging(None)
    members = [keras.models.load_model(path, compile=False, safe_mode=True) for path in args.members]
    extra = {"members": [str(path) for path in args.members]}
    publish(ensemble(members), args, limited(data.load(args.data, "val"), args.limit, 0), extra)


def publish(model, args: argparse.Namespace, val_set: data.FaceSet, extra: dict) -> None:
    """Export into `--models`, fit the temperature on the validation split, and evaluate what was exported."""
    from model_training.export import export

    export(model, args.models, args.version, 1.0, views=args.views, extra=extra)
    calibrate(args.models, val_set)
    evaluate_folder(args.models, val_set, args.models / "evaluation", "FER2013 PublicTest")


def command_evaluate(args: argparse.Namespace) -> None:
    setup_logging(None)
    faces = limited(data.load(args.data, args.split), args.limit, 0)
    evaluate_folder(args.models, faces, args.plots, f"FER2013 {data.CSV_SPLITS[args.split]}")


def command_calibrate(args: argparse.Namespace) -> None:
    setup_logging(None)
    calibrate(args.models, data.load(args.data, "val"))


def command_export(args: argparse.Namespace) -> None:
    """Re-export a trained Keras file (default: the shipped one) with the card's version, temperature and notes."""
    import keras

    from emotag.expressions import MODEL_CARD_FILE
    from model_training.export import export

    setup_logging(None)
    card = json.loads((args.models / MODEL_CARD_FILE).read_text())
    source = args.keras or args.models / card["weights"]
    model = keras.models.load_model(source, compile=False, safe_mode=True)
    known = {"version", "weights", "runtime", "quantisation", "temperature", "views", "emotions", "input", "exported"}
    extra = {key: value for key, value in card.items() if key not in known}
    runtime = export(model, args.models, card["version"], card["temperature"], card["views"], extra)
    log.info("wrote %s (%d bytes)", runtime, runtime.stat().st_size)


def command_framing(args: argparse.Namespace) -> None:
    from model_training import framing

    setup_logging(None)
    if args.check:
        from emotag.expressions import ExpressionModel

        model = ExpressionModel(args.models)
        for row in framing.check_framing(data.load(args.data, "val"), model.classify, limit=args.limit or 2000):
            print(f"{row['framing']:<32} accuracy {row['accuracy']:.4f} on {row['faces']} faces")
        return
    template = framing.measure_template(data.load(args.data, "train"), limit=args.limit or 4000)
    framing.write_template(template)
    print(json.dumps(template, indent=2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model_training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder of .npz archives, a fer2013.csv, or a folder with train/ and test/ image folders",
    )
    common.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="where the exported model lives")
    common.add_argument("--limit", type=int, help="use only this many faces per split (smoke runs)")

    train = sub.add_parser("train", parents=[common], help="train, export, calibrate and evaluate")
    train.add_argument("--run", type=Path, default=Path("runs/expression"), help="checkpoints and logs; resumes")
    train.add_argument("--epochs", type=int, nargs="+", default=[40], help="one number, or one per member")
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument(
        "--seed", type=int, nargs="+", default=[1234], help="one number (member K gets seed + K - 1), or one per member"
    )
    train.add_argument("--members", type=int, default=1, help="train this many networks and average their logits")
    train.add_argument(
        "--cycles",
        type=int,
        nargs="+",
        default=[1],
        help="learning-rate cycles per network (one number, or one per member): each restarts from the last's best",
    )
    train.add_argument(
        "--architecture",
        nargs="+",
        choices=ARCHITECTURES,
        default=["vgg"],
        help="the network of each member (one name, or one per member)",
    )
    train.add_argument(
        "--restart-epochs", type=int, help="epochs of each warm restart (cycle 2 on); default: as --epochs"
    )
    train.add_argument(
        "--snapshots", action="store_true", help="average every cycle's best network, not only the last cycle's"
    )
    train.add_argument(
        "--distill", action="store_true", help="each restart also learns from the earlier cycles' readings of a face"
    )
    train.add_argument(
        "--label-share", type=float, default=0.1, help="FER2013's label's share of each target; the crowd has the rest"
    )
    train.add_argument("--version", required=True, help="the exported model's version, e.g. 1.2.0")
    train.add_argument("--views", nargs="+", choices=VIEWS, default=list(VIEWS), help="views of a face averaged")
    train.set_defaults(run_command=command_train)

    ensemble_cmd = sub.add_parser("ensemble", parents=[common], help="average trained networks into one model")
    ensemble_cmd.add_argument("members", type=Path, nargs="+", help="trained .keras files (e.g. a run's best.keras)")
    ensemble_cmd.add_argument("--version", required=True)
    ensemble_cmd.add_argument("--views", nargs="+", choices=VIEWS, default=list(VIEWS), help="views averaged")
    ensemble_cmd.set_defaults(run_command=command_ensemble)

    evaluate = sub.add_parser("evaluate", parents=[common], help="score the exported model on a split")
    evaluate.add_argument("--split", choices=["train", "val", "test"], default="val")
    evaluate.add_argument("--plots", type=Path, help="write confusion.png, reliability.png and figures.json here")
    evaluate.set_defaults(run_command=command_evaluate)

    calibrate_cmd = sub.add_parser("calibrate", parents=[common], help="refit the temperature on the val split")
    calibrate_cmd.set_defaults(run_command=command_calibrate)

    export_cmd = sub.add_parser("export", parents=[common], help="re-export a Keras model into the runtime format")
    export_cmd.add_argument("--keras", type=Path, help="the trained .keras file (default: the one in --models)")
    export_cmd.set_defaults(run_command=command_export)

    framing_cmd = sub.add_parser("framing", parents=[common], help="measure FER2013's face framing (template)")
    framing_cmd.add_argument("--check", action="store_true", help="score the model on re-cut validation faces")
    framing_cmd.set_defaults(run_command=command_framing)

    args = parser.parse_args(argv)
    args.run_command(args)


if __name__ == "__main__":
    main()
