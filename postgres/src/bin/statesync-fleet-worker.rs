//! A fleet worker process (see `statesync_postgres::Fleet`): the tests start several and
//! kill some; the `fleet` example runs its own binary with `--worker` instead.

use std::process::ExitCode;

use statesync_postgres::fleet_process::{WORKER_COMMAND, WorkerArgs, done_line};

fn main() -> ExitCode {
    WORKER_COMMAND.main(|args| -> Result<(), Box<dyn std::error::Error>> {
        let worker = WorkerArgs::parse(&args)?;
        let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let report = runtime.block_on(worker.run(&url))?;
        statesync_suite::say!("{}", done_line(&worker.name, &report))?;
        Ok(())
    })
}
