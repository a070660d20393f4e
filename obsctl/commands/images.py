"""``obsctl images``: build the local images Molecule and the lab run on."""

from __future__ import annotations

import argparse

from obsctl import images


def _build(args: argparse.Namespace) -> int:
    for line in images.build_all(args.names or None, force=args.force):
        print(line)
    return 0


def _list(_: argparse.Namespace) -> int:
    for recipe in images.list_recipes():
        present = images.image_label(recipe.image, images.RECIPE_LABEL)
        print(f"{recipe.image:40} {'built ' + present if present else 'not built'}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("images", help="build local images (systemd Debian 12 base, Debian-built tools)")
    isub = parser.add_subparsers(dest="images_command", metavar="<action>", required=True)
    build = isub.add_parser("build", help="build every recipe under molecule/images (or the named ones)")
    build.add_argument("names", nargs="*", help="recipe names; default: all")
    build.add_argument("--force", action="store_true", help="rebuild even when the recipe hash matches")
    build.set_defaults(handler=_build)
    lst = isub.add_parser("list", help="show each recipe's image and whether it is built")
    lst.set_defaults(handler=_list)
