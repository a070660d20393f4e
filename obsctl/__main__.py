from obsctl.cli import main

raise SystemExit(main())
