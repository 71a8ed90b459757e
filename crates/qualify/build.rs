//! Records the git commit the binary is built from (`VERGEN_GIT_SHA`, `VERGEN_GIT_DIRTY`), for
//! `qualify --version`. Outside a git checkout (a source archive) they are left unset and the
//! version says so.

fn main() {
    let git = vergen_gitcl::Gitcl::builder().sha(true).dirty(true).build();
    let emitted = vergen_gitcl::Emitter::default()
        .add_instructions(&git)
        .and_then(|emitter| emitter.emit());
    if let Err(error) = emitted {
        println!("cargo:warning=no git commit for --version: {error}");
    }
}
