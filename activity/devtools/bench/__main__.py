from activity.devtools.bench.command import main

raise SystemExit(main())
