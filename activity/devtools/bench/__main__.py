from activity.devtools.bench.run import main

raise SystemExit(main())
