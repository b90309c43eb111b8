use bengal::Result;
use bengal::build::{self, BuildOptions};

use crate::cli::BuildArgs;
use crate::ui::Ui;

pub fn run(args: &BuildArgs, ui: &Ui) -> Result<()> {
    let options =
        BuildOptions { root: args.root.clone(), drafts: args.drafts, output: args.output.clone(), base_url: None };
    let progress = ui.progress("Building");
    let built = build::run(&options, None, &|done, total| progress.update(done, total), None);
    progress.finish();
    let summary = built?.summary;
    ui.config_notes(&summary.config);
    ui.success(&format!(
        "Built {} {}, {} {}, {} {} in {} ms → {}",
        summary.pages,
        plural(summary.pages, "page", "pages"),
        summary.sections,
        plural(summary.sections, "section", "sections"),
        summary.assets,
        plural(summary.assets, "asset", "assets"),
        summary.elapsed.as_millis(),
        ui.display_path(&summary.output),
    ));
    let report = &summary.report;
    ui.verbose(&format!(
        "{} written, {} unchanged, {} removed",
        report.changed.len(),
        report.unchanged,
        report.removed.len()
    ));
    for (stage, elapsed) in &summary.stages {
        ui.verbose(&format!("{:>6} ms  {stage}", elapsed.as_millis()));
    }
    Ok(())
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
