//! The running job's progress line (the AI panel's and the quality panel's): title, bar,
//! count, rate, ETA and Cancel. `prefix` names its test ids (`<prefix>-job`, …).

use leptos::prelude::*;

use crate::ai::Ai;

#[component]
pub fn JobStatus(prefix: &'static str) -> impl IntoView {
    let ai = expect_context::<Ai>();
    move || {
        ai.job.get().map(|job| {
            view! {
                <div class="job" role="status" data-testid=format!("{prefix}-job")>
                    <span>{job.title.clone()}</span>
                    <progress max=job.total.max(1) value=job.done></progress>
                    <span data-testid=format!("{prefix}-job-count")>
                        {format!("{}/{}", job.done, job.total)}
                    </span>
                    <span>{format!("{:.1}/s", job.rate())}</span>
                    <span>{job.eta_seconds().map(|s| format!("ETA {s:.0} s")).unwrap_or_default()}</span>
                    <button data-testid=format!("{prefix}-cancel") on:click=move |_| ai.cancel_job()>
                        "Cancel"
                    </button>
                </div>
            }
        })
    }
}
