//! Input → output pairs from Sentry's own tests of `trim_function_name`
//! (`tests/sentry/stacktraces/test_functions.py`).

use std::borrow::Cow;

use serde_json::json;

use super::native::{split_func_tokens, trim};
use super::{trim_frame, trim_function_name};

fn native(function: &str) -> String {
    trim_function_name(function, "native").into_owned()
}

#[test]
fn plain_names_stay_and_are_borrowed() {
    for name in [
        "function",
        "namespace::Class::function",
        "tokio::runtime::current_thread::runtime::Runtime::enter::{{closure}}::{{closure}}::{{closure}}::{{closure}}",
        "foo::operator->",
        "__libc_start_main",
        "std::rt::lang_start_internal",
        "std::panicking::panic_handler::{closure#0}",
        "closure",
    ] {
        let trimmed = trim_function_name(name, "native");
        assert_eq!(trimmed, name);
        assert!(matches!(trimmed, Cow::Borrowed(_)), "{name}");
        // The shortcut agrees with the full steps.
        assert_eq!(trim(name, "native").as_deref(), Some(name));
    }
}

#[test]
fn cpp_signatures_lose_return_types_arguments_and_trailers() {
    for (input, output) in [
        (" const ", " const "),
        (" namespace::const ", "namespace::"),
        (
            "Scaleform::GFx::AS3::IMEManager::DispatchEvent(char const *,char const *,char const *)",
            "Scaleform::GFx::AS3::IMEManager::DispatchEvent",
        ),
        (
            "static unsigned int Scaleform::GFx::AS3::IMEManager::DispatchEvent(char const *,char const *,char const *) const",
            "Scaleform::GFx::AS3::IMEManager::DispatchEvent",
        ),
        (
            "Scaleform::GFx::IME::GImeNamesManagerVista::OnActivated(unsigned long,unsigned short,_GUID const &,_GUID const &,_GUID const &,HKL__ *,unsigned long)",
            "Scaleform::GFx::IME::GImeNamesManagerVista::OnActivated",
        ),
        (
            "struct style::gecko_bindings::sugar::ownership::Strong<style::gecko_bindings::structs::root::RawServoStyleSheetContents> geckoservo::glue::Servo_StyleSheet_Empty(style::gecko_bindings::structs::root::mozilla::css::SheetParsingMode) const",
            "geckoservo::glue::Servo_StyleSheet_Empty",
        ),
        (
            "static <NoType> std::panicking::begin_panic<str*>(struct str*, struct (str*, u32, u32) *)",
            "std::panicking::begin_panic<T>",
        ),
        (
            "static unsigned int _foo_function (uint32_t,uint32_t) const",
            "_foo_function",
        ),
        ("foo::bar::foo(int)", "foo::bar::foo"),
    ] {
        assert_eq!(native(input), output, "{input}");
    }
}

#[test]
fn anonymous_namespaces_and_operators() {
    for (input, output) in [
        ("?A0xc3a0617d::crash", "`anonymous namespace'::crash"),
        (
            "(anonymous namespace)::StupidFunction<std::vector<std::string>>(int)",
            "(anonymous namespace)::StupidFunction<T>",
        ),
        (
            "(anonymous namespace)::foo(int)",
            "(anonymous namespace)::foo",
        ),
        (
            "v8::internal::operator<<(std::__1::basic_ostream<char, std::__1::char_traits<char> >&, v8::internal::MaybeObjectBrief const&)",
            "v8::internal::operator<<",
        ),
        (
            "unsigned int (anonymous namespace)::operator<<(std::__1::basic_ostream<char, std::__1::char_traits<char> >&, v8::internal::MaybeObjectBrief const&)",
            "(anonymous namespace)::operator<<",
        ),
        (
            "unsigned int mynamespace::MyClass::operator()(std::__1::basic_ostream<char, std::__1::char_traits<char> >&, v8::internal::MaybeObjectBrief const&)",
            "mynamespace::MyClass::operator()",
        ),
        (
            "std::basic_ostream<char, std::char_traits<char> >& std::operator<< <std::char_traits<char> >(std::basic_ostream<char, std::char_traits<char> >&, char)",
            "std::operator<< <T>",
        ),
        (
            "std::__1::unique_ptr<X,std::default_delete<X> >::operator->",
            "std::__1::unique_ptr<T>::operator->",
        ),
    ] {
        assert_eq!(native(input), output, "{input}");
    }
}

#[test]
fn lambdas_of_every_compiler_become_lambda() {
    for (input, output) in [
        ("main::$_0", "main::lambda"),
        ("main::$_42", "main::lambda"),
        ("main::{lambda(int)#1}", "main::lambda"),
        ("main::{lambda()#42}", "main::lambda"),
        ("lambda_7156c3ceaa11256748687ab67e3ef4cd", "lambda"),
        (
            "<lambda_7156c3ceaa11256748687ab67e3ef4cd>::operator()",
            "<lambda>::operator()",
        ),
    ] {
        assert_eq!(native(input), output, "{input}");
    }
}

#[test]
fn rust_trait_impls_generics_and_hashes() {
    for (input, output) in [
        (
            "namespace::function::h9de5fbebc1652d47",
            "namespace::function",
        ),
        (
            "<actix_web::pipeline::Pipeline<S, H> as actix_web::server::handler::HttpHandlerTask>::poll_io",
            "actix_web::pipeline::Pipeline<T>::poll_io",
        ),
        (
            "<tokio_current_thread::scheduler::Scheduled<'a, U>>::tick",
            "tokio_current_thread::scheduler::Scheduled<T>::tick",
        ),
        (
            "<std::panic::AssertUnwindSafe<F> as core::ops::function::FnOnce<()>>::call_once",
            "std::panic::AssertUnwindSafe<T>::call_once",
        ),
        (
            "<actix::contextimpl::ContextFut<A, C> as futures::future::Future>::poll::h9de5fbebc1652d47",
            "actix::contextimpl::ContextFut<T>::poll",
        ),
        (
            "<T as core::convert::Into<U>>::into",
            "core::convert::Into<T>::into",
        ),
    ] {
        assert_eq!(native(input), output, "{input}");
    }
}

#[test]
fn objective_c_selectors_are_left_alone() {
    for name in [
        "+[FLFoo barBaz]",
        "-[FLFoo barBaz]",
        "+[foo:(bar)]",
        "[foo:(bar)]",
        "-[foo:(bar)]",
    ] {
        assert_eq!(trim_function_name(name, "objc"), name);
        assert_eq!(native(name), name);
    }
}

#[test]
fn clones_symbol_versions_and_windows_decorations() {
    for (input, output) in [
        (
            "trigger_crash_a(int*) [clone .constprop.0]",
            "trigger_crash_a",
        ),
        (
            "ShellCorona::screenInvariants() const [clone .cold]",
            "ShellCorona::screenInvariants",
        ),
        (
            "__gnu_cxx::__verbose_terminate_handler() [clone .cold]",
            "__gnu_cxx::__verbose_terminate_handler",
        ),
        (
            "pthread_cond_timedwait@@GLIBC_2.3.2",
            "pthread_cond_timedwait",
        ),
        ("glob64@GLIBC_2.2", "glob64"),
        ("ThreadStartWhatever@16", "ThreadStartWhatever"),
        ("@ThreadStartWhatever@16", "ThreadStartWhatever"),
    ] {
        assert_eq!(native(input), output, "{input}");
    }
}

#[test]
fn swift_signatures_closures_and_initializers() {
    for (input, output) in [
        (
            "@objc ViewController.causeCrash(Any) -> ()",
            "ViewController.causeCrash",
        ),
        (
            "ViewController.causeCrash(Any) -> ()",
            "ViewController.causeCrash",
        ),
        (
            "@objc ViewController.causeCrash(Any, Foo -> Bar) -> SomeObject",
            "ViewController.causeCrash",
        ),
        (
            "ViewController.causeCrash(Any) -> SomeObject",
            "ViewController.causeCrash",
        ),
        (
            "static Namespace.ThrowingFunction() throws -> Namespace.ExitValue?",
            "Namespace.ThrowingFunction",
        ),
        (
            "closure #1 @Swift.MainActor () -> () in static Foo.CallFunction(args: [Swift.String]) -> ()",
            "closure in Foo.CallFunction",
        ),
        (
            "closure #1 () -> () in Bar.PostTask(() -> ()) -> ()",
            "closure in Bar.PostTask",
        ),
        (
            "closure #1 @Sendable () -> Swift.String in variable initialization expression of static Namespace.Class.var : Namespace.Parent",
            "closure in initializer expression of Namespace.Class.var",
        ),
        (
            "variable initialization expression of static Namespace.Class.var : Namespace.Parent",
            "initializer expression of Namespace.Class.var",
        ),
        (
            "closure #1 () -> () in variable initialization expression of static (extension in SpaceCreation):Namespace.Class.var : Namespace.Parent",
            "closure in initializer expression of Namespace.Class.var",
        ),
    ] {
        assert_eq!(native(input), output, "{input}");
    }
}

#[test]
fn cocoa_thunks_and_closures() {
    for (input, output) in [
        (
            "thunk for @escaping @callee_guaranteed () -> ()",
            "thunk for closure",
        ),
        (
            "specialized thunk for @callee_guaranteed (@guaranteed [T1]) -> (@owned [T2])",
            "thunk for closure",
        ),
        (
            "partial apply for thunk for @callee_guaranteed () -> (@error @owned Error)",
            "thunk for closure",
        ),
        (
            "partial apply for thunk for @escaping @callee_guaranteed (@guaranteed SomeType, @guaranteed [String : SomeType2], @guaranteed SomeType3) -> ()",
            "thunk for closure",
        ),
        ("closure #1 (T1) in foo(bar: T2)", "closure in foo"),
        (
            "partial apply for closure #1 () in closure #2 (T1) in f1(_: T2, arg: T3)",
            "closure in f1",
        ),
    ] {
        assert_eq!(trim_function_name(input, "cocoa"), output, "{input}");
    }
}

#[test]
fn csharp_loses_its_argument_list_and_other_platforms_keep_theirs() {
    assert_eq!(
        trim_function_name("UnityEngine.Events.InvokableCall.Invoke ()", "csharp"),
        "UnityEngine.Events.InvokableCall.Invoke"
    );
    assert_eq!(
        trim_function_name(
            "UnityEngine.EventSystems.ExecuteEvents.Execute[T] (UnityEngine.GameObject target, UnityEngine.EventSystems.BaseEventData eventData, UnityEngine.EventSystems.ExecuteEvents+EventFunction`1[T1] functor)",
            "csharp"
        ),
        "UnityEngine.EventSystems.ExecuteEvents.Execute[T]"
    );
    for platform in ["python", "javascript", "java", "other"] {
        assert_eq!(
            trim_function_name("foo(int) const", platform),
            "foo(int) const"
        );
    }
    for unknown in ["<redacted>", "<unknown>"] {
        assert_eq!(native(unknown), unknown);
    }
}

#[test]
fn tokens_split_at_whitespace_outside_brackets() {
    for (input, output) in [
        (
            "namespace::Class::function",
            vec!["namespace::Class::function"],
        ),
        ("foo bar baz", vec!["foo", "bar", "baz"]),
        (
            "foo bar (enclosed baz)",
            vec!["foo", "bar", "(enclosed baz)"],
        ),
        (
            "foo (enclosed bar) baz",
            vec!["foo", "(enclosed bar)", "baz"],
        ),
        (
            "foo(enclosed bar)baz {moar stuff}",
            vec!["foo(enclosed bar)baz", "{moar stuff}"],
        ),
        ("foo bar [baz (blah)]", vec!["foo", "bar", "[baz (blah)]"]),
    ] {
        assert_eq!(split_func_tokens(input), output, "{input}");
    }
}

#[test]
fn frames_keep_the_original_in_raw_function() {
    let mut frame = json!({"function": "foo::bar(int) const"});
    trim_frame(frame.as_object_mut().unwrap(), "native");
    assert_eq!(
        frame,
        json!({"function": "foo::bar", "raw_function": "foo::bar(int) const"})
    );

    // The frame's platform beats the event's; an SDK's raw_function means it trimmed already.
    let mut frame = json!({"function": "foo::bar(int)", "platform": "python"});
    trim_frame(frame.as_object_mut().unwrap(), "native");
    assert_eq!(
        frame,
        json!({"function": "foo::bar(int)", "platform": "python"})
    );
    let mut frame = json!({"function": "foo::bar(int)", "platform": "c"});
    trim_frame(frame.as_object_mut().unwrap(), "python");
    assert_eq!(frame["function"], "foo::bar");
    let mut frame = json!({"function": "foo(int)", "raw_function": "foo(int)"});
    trim_frame(frame.as_object_mut().unwrap(), "native");
    assert_eq!(
        frame,
        json!({"function": "foo(int)", "raw_function": "foo(int)"})
    );

    let mut frame = json!({"function": "foo(int)", "raw_function": null});
    trim_frame(frame.as_object_mut().unwrap(), "native");
    assert_eq!(
        frame,
        json!({"function": "foo", "raw_function": "foo(int)"})
    );

    // Nothing to trim: the frame is not touched.
    let mut frame = json!({"function": "main"});
    trim_frame(frame.as_object_mut().unwrap(), "native");
    assert_eq!(frame, json!({"function": "main"}));
}

#[test]
fn nested_qualified_paths_and_hostile_names() {
    // `<<A as B>::C as D>::e`: the innermost blanket `A as ` goes, then each ` as …` tail.
    assert_eq!(native("<<A as B>::C as D>::e"), "B::C::e");
    assert_eq!(
        native("<<alloc::Box<F> as core::Fn<A>>::Output as Try>::branch"),
        "alloc::Box<T>::Output::branch"
    );
    // Names made only of brackets or unfinished lambdas trim to nothing: the name stays.
    let nested = format!("{}{}", "<".repeat(266), ">".repeat(266));
    assert_eq!(native(&nested), nested);
    let lambdas = "{lambda(".repeat(66);
    assert_eq!(native(&lambdas), lambdas);
    // A lambda name does not span lines (its argument list still goes).
    assert_eq!(
        native("a::{lambda(int)#1}::{lambda(\n)#2}"),
        "a::lambda::{lambda#2}"
    );
}

#[test]
fn il2cpp_method_hashes_go_and_their_descriptors_stay() {
    for (input, output) in [
        (
            "NativeButtons_DoSomeWorkHere_m7486FA1E8A228E806BA045D26ABECC87DFD436B4",
            "NativeButtons_DoSomeWorkHere",
        ),
        (
            "Thread_Sleep_m71DE163765BF465EC4A0163F2ED4D43143094549(int, MethodInfo const*)",
            "Thread_Sleep",
        ),
        (
            "U3CAppHangCaptureU3Ed__12_MoveNext_m92EE64B7CB73ABCEE3CA67581B1F90122637F61D(U3CAppHangCaptureU3Ed__12_tF24197A44C378085E75CA07E995888BBF01EDA62*, MethodInfo const*)",
            "U3CAppHangCaptureU3Ed__12_MoveNext",
        ),
        (
            "List_1_CopyTo_m5180D7A430072A21034A0692CDD1D565ADEE2ABB_gshared(RuntimeArray*, int32_t)",
            "List_1_CopyTo_gshared",
        ),
        (
            "List_1_CopyTo_m5180D7A430072A21034A0692CDD1D565ADEE2ABB_gshared",
            "List_1_CopyTo_gshared",
        ),
        (
            "List_1_CopyTo_m5180D7A430072A21034A0692CDD1D565ADEE2ABB_fshared",
            "List_1_CopyTo_fshared",
        ),
        (
            "LinkedList_1_get_First_mFE6CE39F3C815C988217E69C202C990619E7EB87_inline",
            "LinkedList_1_get_First_inline",
        ),
        (
            "LinkedList_1_get_First_mFE6CE39F3C815C988217E69C202C990619E7EB87_gshared_inline",
            "LinkedList_1_get_First_gshared_inline",
        ),
        (
            "LinkedList_1_get_First_mFE6CE39F3C815C988217E69C202C990619E7EB87_fshared_inline",
            "LinkedList_1_get_First_fshared_inline",
        ),
        (
            "AnimationClipPlayable_Equals_mC5263BEA86C02CEDF93C5B14EAA168883E1DB5F4_AdjustorThunk",
            "AnimationClipPlayable_Equals_AdjustorThunk",
        ),
        (
            "GetRayIntersectionAllCallback_Invoke_m917AA4108EBDC724AFEF39BFD06A586B7461F497_Multicast",
            "GetRayIntersectionAllCallback_Invoke_Multicast",
        ),
        (
            "GetRayIntersectionAllCallback_Invoke_m917AA4108EBDC724AFEF39BFD06A586B7461F497_OpenStatic",
            "GetRayIntersectionAllCallback_Invoke_OpenStatic",
        ),
        (
            "unitytls_x509list_get_ref_t_Invoke_mE7C675B7847FFEF96C25AE757D34CE920AA16EC2_OpenInstance",
            "unitytls_x509list_get_ref_t_Invoke_OpenInstance",
        ),
        (
            "LocalCertificateSelectionCallback_Invoke_mED43EE6E88B8C653C7D68966F86751B70907591C_OpenGenericVirtual",
            "LocalCertificateSelectionCallback_Invoke_OpenGenericVirtual",
        ),
        (
            "ParameterizedConstructorDelegate_5_Invoke_m8ABE4DDEF0C49FF41403E4B3A4064E885DEC800E_OpenStaticInvoker",
            "ParameterizedConstructorDelegate_5_Invoke_OpenStaticInvoker",
        ),
        (
            "ParameterizedConstructorDelegate_5_Invoke_m8E54847F621BC27BAF3601B6E718F8243082CE3E_OpenVirtualInvoker",
            "ParameterizedConstructorDelegate_5_Invoke_OpenVirtualInvoker",
        ),
        (
            "OnVideoCaptureResourceCreatedCallback_Invoke_mE75C26918C0D14F264699056B8BB4B303246A7AD_OpenInterfaceInvoker",
            "OnVideoCaptureResourceCreatedCallback_Invoke_OpenInterfaceInvoker",
        ),
        (
            "AndroidJNIHelper_ConvertFromJNIArray_mAB7ACB3EE802BD8FCCF0D816108D296367FCA69D_gp_0_0_0_0",
            "AndroidJNIHelper_ConvertFromJNIArray_gp_0_0_0_0",
        ),
        (
            "AndroidJNIHelper_GetFieldID_mD25F75AF5FF5844520E9564616E3A25F6070B3EB_gp_0_1_0_2",
            "AndroidJNIHelper_GetFieldID_gp_0_1_0_2",
        ),
        // A variable's name, not a function's: an unknown descriptor keeps the hash.
        (
            "Scope_Apply_m68049D2D67C5881750236D8E55E464E7A96A2DD7_RuntimeMethod_var",
            "Scope_Apply_m68049D2D67C5881750236D8E55E464E7A96A2DD7_RuntimeMethod_var",
        ),
    ] {
        assert_eq!(native(input), output, "{input}");
    }
    // Not 40 hex digits, or something else after them: kept.
    for name in [
        "Foo_m7486FA1E8A228E806BA045D26ABECC87DFD436B",
        "Foo_m7486FA1E8A228E806BA045D26ABECC87DFD436B4x",
        "Foo_m7486FA1E8A228E806BA045D26ABECC87DFD436B4_gp",
        "Foo_m7486FA1E8A228E806BA045D26ABECC87DFD436B4_OpenStaticInvokers",
    ] {
        assert_eq!(native(name), name);
    }
}
