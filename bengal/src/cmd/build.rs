use bengal::{BuildOptions, Result, Site};

use crate::cli::BuildArgs;
use crate::ui::Ui;

pub fn run(args: &BuildArgs, ui: &Ui) -> Result<()> {
    let options =
        BuildOptions { root: args.root.clone(), drafts: args.drafts, output: args.output.clone(), base_url: None };
    let progress = ui.progress("Building");
    let summary = Site::build(&options, &|done, total| progress.update(done, total));
    progress.finish();
    let summary = summary?;
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
    Ok(())
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
