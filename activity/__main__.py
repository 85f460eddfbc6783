from activity.cli import main

raise SystemExit(main())
