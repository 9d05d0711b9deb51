"""Index a folder of photos and search it, with the Python package (docs/LIBRARY.md).

    python examples/search_photos.py MODEL FOLDER DB "a query" [--since 2023-06] [--format jpeg]
"""

import argparse
import sys

import clipdex


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("folder")
    parser.add_argument("db")
    parser.add_argument("query")
    parser.add_argument("--since")
    parser.add_argument("--format", action="append", default=[])
    args = parser.parse_args()
    try:
        model = clipdex.Model(args.model)
        library = clipdex.Library(args.db, model=model)
        report = library.index([args.folder], progress=lambda done, total: print(f"\rindexed {done}/{total}", end="", file=sys.stderr))
        print(f"\n{report['embedded']} new images, {library.images} in the library", file=sys.stderr)
        for hit in library.search_hits(args.query, k=5, since=args.since, formats=args.format):
            print(f"{hit.score}\t{hit.path}\t{hit.date}")
    except clipdex.Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
